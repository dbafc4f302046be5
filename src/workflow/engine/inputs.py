"""Checking the values a person gives with an event against the step's declared inputs.

Values are normalised to JSON-compatible forms (dates and times as ISO text) so the
case data can be stored as it is. Every field is checked, so a form shows all its
errors at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from workflow.definitions.models import Definition
from workflow.definitions.parts import Input
from workflow.definitions.vocabulary import InputType
from workflow.engine.access import YOUNG_PERSON_ACTOR
from workflow.engine.input_facts import MANY_PEOPLE, InputFacts, against_facts, people_as_given
from workflow.engine.model import FieldError

MAX_TEXT = 5000
_INTEGER = re.compile(r"^[+-]?\d{1,18}$")
#: Characters no value may hold: control characters (PostgreSQL cannot store NUL in text,
#: and the others only garble pages, mails and terminals), lone surrogates (not UTF-8),
#: line and paragraph separators and the bidi overrides that visibly reverse text on a
#: page ("I gang" shown backwards).
_INVISIBLE = "\u2028\u2029\u202a-\u202e\u2066-\u2069"
_BAD_IN_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff{_INVISIBLE}]")
_BAD_IN_NAME = re.compile(f"[\x00-\x1f\x7f\ud800-\udfff{_INVISIBLE}]")  # a name is one line
GOAL_STATUSES = ("open", "met", "partly", "not_met")
REVIEW_STATUSES = ("met", "partly", "not_met")
NETWORK_KINDS = ("leisure", "education", "work", "mentor", "family", "volunteer", "other")


class _InvalidError(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
        #: Every problem found, (code, params): one, or one per wrong entry of a list.
        self.problems: list[tuple[str, dict[str, Any]]] = [(code, params)]

    @classmethod
    def of(cls, problems: list[tuple[str, dict[str, Any]]]) -> _InvalidError:
        """The problems of several entries of a list, told together."""
        code, params = problems[0]
        error = cls(code, **params)
        error.problems = problems
        return error

    def at(self, number: int, goal: bool = False) -> list[tuple[str, dict[str, Any]]]:
        """The problems as found in the list's entry ``number`` (1, 2...): each names it
        (``goal``: an entry of a plan, which its form calls "Mål 2", not "række 2")."""
        named: dict[str, Any] = {"item": number} | ({"goal": True} if goal else {})
        return [(code, named | params) for code, params in self.problems]


def validate_inputs(
    definition: Definition,
    declared: Sequence[Input],
    given: Mapping[str, Any],
    facts: InputFacts | None = None,
) -> tuple[dict[str, Any], list[FieldError]]:
    """The normalised values of every declared input, and the errors found (with
    ``facts``: also staff ids the account store does not know, reviews of goals the
    plan does not have)."""
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    names = {item.name for item in declared}
    errors.extend(FieldError(name, "unknown_field") for name in given if name not in names)
    for item in declared:
        raw = given.get(item.name)
        if raw is None or raw == "" or raw == []:
            if item.required and not (item.type is InputType.BOOLEAN and raw is False):
                # A group of choices is told to choose (its words: "vælg mindst én").
                chosen = {"choose": 1} if item.type in _CHOOSE_SOME else {}
                errors.append(FieldError(item.name, "required", chosen))
            values[item.name] = None
            continue
        try:
            value = _convert(definition, item, raw)
        except _InvalidError as exc:  # every wrong entry of a list at once, not in rounds
            errors.extend(FieldError(item.name, code, params) for code, params in exc.problems)
            if facts is not None and facts.staff is not None and item.type in MANY_PEOPLE:
                errors.extend(people_as_given(item, raw, facts.staff))  # with them, not after
            continue
        except (OverflowError, RecursionError):
            errors.append(FieldError(item.name, "not_number"))
            continue
        if item.required and value in ("", []):
            errors.append(FieldError(item.name, "required"))
        if facts is not None:
            errors.extend(against_facts(definition, item, value, facts))
        values[item.name] = value
    return values, errors


#: Inputs given by ticking some of a group of choices.
_CHOOSE_SOME = frozenset({InputType.MULTICHOICE, InputType.THEMES, InputType.DEPARTMENTS})


def _convert(d: Definition, item: Input, raw: Any) -> Any:
    converter = _CONVERTERS[item.type]
    return converter(d, item, raw)


def _text(_d: Definition, _item: Input, raw: Any) -> str:
    if not isinstance(raw, str):
        raise _InvalidError("not_text")
    value = raw.strip()
    if len(value) > MAX_TEXT:
        raise _InvalidError("too_long", max=MAX_TEXT)
    _printable(value, _BAD_IN_TEXT)
    return value


def name_problem(value: str, max_length: int = 200) -> FieldError | None:
    """What is wrong with a person's name given at referral (field ``name``), or None: a
    name is one line of printable text, not empty, at most ``max_length`` characters."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return FieldError("name", "required")
    if len(text) > max_length:
        return FieldError("name", "too_long", {"max": max_length})
    try:
        _printable(text, _BAD_IN_NAME)
    except _InvalidError as exc:
        return FieldError("name", exc.code, exc.params)
    return None


def _printable(value: str, bad: re.Pattern[str]) -> None:
    found = bad.search(value)
    if found:
        raise _InvalidError("bad_character", char=f"U+{ord(found.group()):04X}")


def _bounded(item: Input, value: float) -> None:
    if item.min is not None and value < item.min:
        raise _InvalidError("too_small", min=_num(item.min))
    if item.max is not None and value > item.max:
        raise _InvalidError("too_large", max=_num(item.max))


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _integer(_d: Definition, item: Input, raw: Any) -> int:
    if isinstance(raw, bool):
        raise _InvalidError("not_integer")
    if isinstance(raw, str):
        text = raw.strip()
        if not _INTEGER.match(text):
            raise _InvalidError("not_integer")
        raw = int(text)
    if not isinstance(raw, int) or abs(raw) > 10**18:
        raise _InvalidError("not_integer")
    _bounded(item, raw)
    return raw


def _decimal(_d: Definition, item: Input, raw: Any) -> float:
    if isinstance(raw, bool):
        raise _InvalidError("not_number")
    try:
        value = float(raw.replace(",", ".")) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        raise _InvalidError("not_number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise _InvalidError("not_number")
    _bounded(item, value)
    return value


def _boolean(_d: Definition, _item: Input, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false", "ja", "nej"):
        return raw.strip().lower() in ("true", "ja")
    raise _InvalidError("not_boolean")


_Day = TypeVar("_Day", date, datetime)
_T = TypeVar("_T")


def _date(_d: Definition, _item: Input, raw: Any) -> str:
    if isinstance(raw, datetime):
        raise _InvalidError("not_date")
    if isinstance(raw, date):
        return _in_range(raw).isoformat()
    try:
        day = date.fromisoformat(str(raw).strip())
    except ValueError:
        raise _InvalidError("not_date") from None
    return _in_range(day).isoformat()


#: The years a date or time given in a step may fall in: a case's dates are within a
#: young person's life (a year 1 or 9999 breaks calendars and mails downstream).
FIRST_YEAR, LAST_YEAR = 1900, 2200


def _in_range(day: _Day) -> _Day:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise _InvalidError("date_out_of_range", first=FIRST_YEAR, last=LAST_YEAR)
    return day


def _datetime(d: Definition, _item: Input, raw: Any) -> str:
    if isinstance(raw, str):
        try:
            raw = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise _InvalidError("not_datetime") from None
    if not isinstance(raw, datetime):
        raise _InvalidError("not_datetime")
    moment: datetime = _in_range(raw)
    zone = ZoneInfo(d.calendar.timezone)
    # In the municipality's time, as every page, mail and calendar says it: given with
    # another offset (an API client's UTC), a 09:00 meeting was mailed as "kl. 08.00".
    moment = moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)
    return moment.isoformat(timespec="minutes")


def _one_of(value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise _InvalidError("not_a_choice", value=value, choices=", ".join(allowed))
    return str(value)


def _as_list(item: Input, raw: Any) -> list[Any]:
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list | tuple):
        raise _InvalidError("not_a_list")
    if item.min is not None and len(raw) < item.min:
        raise _InvalidError("too_few", min=_num(item.min))
    if item.max is not None and len(raw) > item.max:
        raise _InvalidError("too_many", max=_num(item.max))
    if len(raw) > MAX_LIST_ITEMS:  # whatever the definition says: one step, a bounded list
        raise _InvalidError("too_many", max=MAX_LIST_ITEMS)
    return list(raw)


def _many(allowed: Callable[[Definition, Input], Sequence[str]]) -> Callable[..., list[str]]:
    def convert(d: Definition, item: Input, raw: Any) -> list[str]:
        choices = allowed(d, item)
        values: list[str] = []

        def one(_number: int, value: Any) -> str:
            chosen = _one_of(value, choices)
            if chosen in values:
                raise _InvalidError("duplicate", value=chosen)
            values.append(chosen)
            return chosen

        return _each(item, raw, one)

    return convert


def _single(allowed: Callable[[Definition, Input], Sequence[str]]) -> Callable[..., str]:
    def convert(d: Definition, item: Input, raw: Any) -> str:
        return _one_of(raw, allowed(d, item))

    return convert


def _choices(_d: Definition, item: Input) -> list[str]:
    return [c.value for c in item.choices]


def _departments(d: Definition, _item: Input) -> list[str]:
    return list(d.departments_by_id)


def _themes(d: Definition, _item: Input) -> list[str]:
    return [t.id for t in d.themes]


def _levels(d: Definition, _item: Input) -> list[str]:
    return [level.id for level in d.progression.levels] if d.progression else []


def _person(_d: Definition, _item: Input, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _InvalidError("not_text")
    if len(raw) > 200:
        raise _InvalidError("too_long", max=200)
    value = raw.strip()
    _printable(value, _BAD_IN_NAME)
    if not PERSON_ID.match(value):  # an id, or a mail address: never a path or a list
        raise _InvalidError("not_a_person_id")
    return value


#: A person on a case: a staff id (``laerer-anna``) or an outside partner's mail address
#: (``mentor@firma.dk``). Nothing else: a person id becomes a recipient, and a folder
#: name or a path in it must never reach a delivery channel.
PERSON_ID = re.compile(
    r"^[A-Za-z0-9æøåÆØÅ](?:[A-Za-z0-9æøåÆØÅ._+-]*[A-Za-z0-9æøåÆØÅ])?"
    r"(?:@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+)?$"
)
#: The most items any list input (a team, a plan, networks...) may hold in one step.
MAX_LIST_ITEMS = 100


def _participant(d: Definition, item: Input, raw: Any) -> str:
    """Someone invited to a meeting: a person, the young person (by the case's reference)
    or a guardian."""
    if isinstance(raw, str) and (raw == "guardian" or _YOUNG_PERSON.match(raw)):
        return raw
    return _person(d, item, raw)


_YOUNG_PERSON = re.compile("^" + re.escape(YOUNG_PERSON_ACTOR) + r"[A-Z]{2,5}-\d{4}-\d{1,8}$")


def _each(item: Input, raw: Any, convert: Callable[[int, Any], _T]) -> list[_T]:
    """Each entry of a list input converted (``convert(number, entry)``, numbered from 1);
    the problems of every wrong entry told together, each naming its entry."""
    converted: list[_T] = []
    problems: list[tuple[str, dict[str, Any]]] = []
    for number, entry in enumerate(_as_list(item, raw), start=1):
        try:
            converted.append(convert(number, entry))
        except _InvalidError as exc:
            problems.extend(exc.at(number, goal=item.type is InputType.GOALS))
    if problems:
        raise _InvalidError.of(problems)
    return converted


def _record(entry: Any, required: Sequence[str]) -> dict[str, Any]:
    """An entry of a list of records (a team member, a goal...), its required parts there."""
    if not isinstance(entry, Mapping):
        raise _InvalidError("item_not_a_map")
    for name in required:
        value = entry.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise _InvalidError("item_field_required", field=name)
    return dict(entry)


def _team(d: Definition, item: Input, raw: Any) -> list[dict[str, Any]]:
    seen: set[tuple[str, str]] = set()

    def member(_number: int, given: Any) -> dict[str, Any]:
        entry = _record(given, ("department", "person"))
        department = _one_of(entry["department"], list(d.departments_by_id))
        person = _person(d, item, entry["person"])
        if (department, person) in seen:
            raise _InvalidError("duplicate", value=person)
        seen.add((department, person))
        named = entry.get("role") or "team_member"
        if not isinstance(named, str):  # not a list shown as "['x']"
            raise _InvalidError("not_text")
        role = named.strip()
        if len(role) > 64:
            raise _InvalidError("too_long", max=64)
        _printable(role, _BAD_IN_NAME)
        return {"department": department, "person": person, "role": role}

    return _each(item, raw, member)


def _goals(d: Definition, item: Input, raw: Any) -> list[dict[str, Any]]:
    def goal(number: int, given: Any) -> dict[str, Any]:
        entry = _record(given, ("text",))
        text = _text(d, item, entry["text"])
        if item.first_person and not _first_person(text):
            raise _InvalidError("goal_not_first_person")
        department = entry.get("department")
        theme = entry.get("theme")
        return {
            "id": number,
            "text": text,
            "department": _one_of(department, list(d.departments_by_id)) if department else None,
            "theme": _one_of(theme, [t.id for t in d.themes]) if theme else None,
            "owner": _person(d, item, str(entry["owner"])) if entry.get("owner") else None,
            "deadline": _date(d, item, entry["deadline"]) if entry.get("deadline") else None,
            "status": _one_of(entry.get("status") or "open", GOAL_STATUSES),
        }

    return _each(item, raw, goal)


#: The young person speaking of themself: Danish (anywhere in the goal) and English.
_FIRST_PERSON = frozenset({"jeg", "mig", "min", "mit", "mine", "my", "me", "myself", "i'm"})
#: English "I" is first person only before an English verb (Danish "I skal..." is "you").
_ENGLISH_AFTER_I = frozenset(
    {"will", "want", "am", "can", "need", "have", "go", "do", "would", "should", "must",
     "shall", "plan", "try", "wish", "like", "start", "get", "keep", "'ll", "'m"}
)  # fmt: skip
_WORD = re.compile(r"[\w']+")


def _first_person(text: str) -> bool:
    """Whether a goal is written by the young person about themself: a first-person word
    anywhere ("Efter sommerferien vil jeg starte på HF"), not only first — and not a
    Danish "I" (you, plural: "I skal sørge for at Freja møder op")."""
    words = [w.lower() for w in _WORD.findall(text)]
    if any(w in _FIRST_PERSON for w in words):
        return True
    return any(
        w == "i" and (nxt in _ENGLISH_AFTER_I or nxt.startswith("'"))
        for w, nxt in zip(words, [*words[1:], ""], strict=True)
    )


_GOAL_NUMBER = Input(name="goal", type=InputType.INTEGER, label="mål", min=1, max=MAX_LIST_ITEMS)


def _goal_reviews(d: Definition, item: Input, raw: Any) -> list[dict[str, Any]]:
    """One review per goal of the plan, by its number (1, 2...; each goal once)."""
    seen: set[int] = set()

    def review(_number: int, given: Any) -> dict[str, Any]:
        entry = _record(given, ("goal", "status"))
        goal = entry["goal"]
        if isinstance(goal, bool) or not isinstance(goal, int | str):
            raise _InvalidError("not_integer")
        number = _integer(d, _GOAL_NUMBER, goal)
        if number in seen:
            raise _InvalidError("duplicate", value=number)
        seen.add(number)
        return {"goal": number, "status": _one_of(entry["status"], REVIEW_STATUSES)}

    return _each(item, raw, review)


def _networks(d: Definition, item: Input, raw: Any) -> list[dict[str, Any]]:
    def network(_number: int, given: Any) -> dict[str, Any]:
        entry = _record(given, ("name", "kind"))
        return {
            "name": _text(d, item, entry["name"]),
            "kind": _one_of(entry["kind"], NETWORK_KINDS),
        }

    return _each(item, raw, network)


def _booked_meeting(d: Definition, item: Input, raw: Any) -> int:
    return _integer(d, Input(name=item.name, type=InputType.INTEGER, label="", min=1), raw)


ATTENDANCE_KEYS = ("absent", "no_show")


def _attendance(d: Definition, item: Input, raw: Any) -> dict[str, list[str]]:
    """Who did not come: ``{"absent": [...], "no_show": [...]}``; everyone else was there."""
    if not isinstance(raw, Mapping):
        raise _InvalidError("item_not_a_map", item=1)
    unknown = [k for k in raw if k not in ATTENDANCE_KEYS]
    if unknown:
        raise _InvalidError("not_a_choice", value=unknown[0], choices=", ".join(ATTENDANCE_KEYS))
    found: dict[str, list[str]] = {}
    seen: set[str] = set()
    for key in ATTENDANCE_KEYS:
        people = raw.get(key) or []
        if isinstance(people, str):
            people = [people]
        if not isinstance(people, list | tuple):
            raise _InvalidError("not_a_list")
        found[key] = []
        for person in people:
            name = _participant(d, item, person)
            if name in seen:
                raise _InvalidError("duplicate", value=name)
            seen.add(name)
            found[key].append(name)
    return found


def _places(d: Definition, item: Input) -> list[str]:
    """A meeting place input offers its own choices, else the meeting rules' rooms."""
    return [c.value for c in item.choices] or [r.value for r in d.meeting_rules.rooms]


_CONVERTERS: dict[InputType, Callable[[Definition, Input, Any], Any]] = {
    InputType.TEXT: _text,
    InputType.INTEGER: _integer,
    InputType.DECIMAL: _decimal,
    InputType.BOOLEAN: _boolean,
    InputType.DATE: _date,
    InputType.DATETIME: _datetime,
    InputType.MEETING: _datetime,
    InputType.CHOICE: _single(_choices),
    InputType.MEETING_PLACE: _single(_places),
    InputType.MULTICHOICE: _many(_choices),
    InputType.DEPARTMENT: _single(_departments),
    InputType.DEPARTMENTS: _many(_departments),
    InputType.THEME: _single(_themes),
    InputType.THEMES: _many(_themes),
    InputType.PERSON: _person,
    InputType.COORDINATOR: _person,
    InputType.TEAM: _team,
    InputType.GOALS: _goals,
    InputType.GOAL_REVIEWS: _goal_reviews,
    InputType.NETWORKS: _networks,
    InputType.BOOKED_MEETING: _booked_meeting,
    InputType.ATTENDANCE: _attendance,
    InputType.PROGRESSION: _single(_levels),
}
